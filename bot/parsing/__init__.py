"""Parsers that turn what a person types (money, dates, counts) into values or InvalidInput."""
