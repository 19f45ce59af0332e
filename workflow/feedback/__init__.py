"""回访 and 好差评: the resident's voice on a finished case.

When a case ends (any final state) the resident is asked, once per round: by a one-time link
(links), or by a callback operator's call (callbacks). A 差评 opens a rectification for the
handling unit and a second round follows its report (rectification); the handling unit may
appeal a rating and the district decides (appeals). Every step is a trail event, committed with
the row it changes; the appraisal reads the trail, never this package's tables."""

from __future__ import annotations

# The five 好差评 levels, from the top.
LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
# 差评: these levels open a rectification.
BAD_LEVELS = frozenset({1, 2})
CHANNELS = ("link", "phone", "window_device")

GIVEN = "feedback.given"
RECTIFICATION_OPENED = "feedback.rectification_opened"
RECTIFICATION_REPORTED = "feedback.rectification_reported"
APPEALED = "feedback.appealed"
APPEAL_DECIDED = "feedback.appeal_decided"
