"""`styleforge bench`: speed, memory and cost of the presets, measured on this machine."""
