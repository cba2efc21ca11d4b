"""One customer profile across visits and channels (F23)."""
