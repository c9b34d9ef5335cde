"""osteocheck: contraindication checker for massage therapy with clients who live with osteoporosis."""

__version__ = "0.1.0"
