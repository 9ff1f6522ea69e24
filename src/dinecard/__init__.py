"""DineCard: membership, stored value and points for restaurant chains."""

__version__ = "0.1.0"
