"""Trigger-word ("activate") data: collection, splitting, clip synthesis, features."""
