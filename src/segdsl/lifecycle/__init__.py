"""What runs on checked segments: sizes, refresh and the membership store, sync to messaging, journeys."""
