"""povdesk: an offline registry for targeted poverty registration (建档立卡)."""

__version__ = "0.1.0"
