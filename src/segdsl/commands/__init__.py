"""Subcommands that live in their own modules; each imports its heavy parts lazily."""
