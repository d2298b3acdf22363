"""Campaigns: programs, waves, hour-by-hour planning and fair assignment of visits and test calls."""
