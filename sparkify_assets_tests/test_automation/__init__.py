"""Automation (sparkify_assets/automation, alerts): sensor, schedule, converging days, alerts and their delivery."""
