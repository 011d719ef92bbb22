"""Announcements: the hosts' messages to a challenge's participants."""
