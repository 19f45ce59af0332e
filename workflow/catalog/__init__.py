"""Publishing definitions as content-addressed versions, and reading them back."""
