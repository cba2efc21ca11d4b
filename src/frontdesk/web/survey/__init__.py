"""The public survey pages: one-click answers from CSAT emails, no login."""
