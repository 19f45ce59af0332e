"""Appraisal: metrics from the trail, the scheme, frozen records."""
