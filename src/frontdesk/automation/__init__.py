"""Automation around conversations: macros, satisfaction surveys, SLA clocks."""
