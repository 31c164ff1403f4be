"""Proposals and their append-only event log live here (see the review workflow issue)."""
