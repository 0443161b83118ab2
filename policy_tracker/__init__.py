"""ptrack: track the implementation of China's 2025 Opinions on Promoting High-Quality Urban Development."""

__version__ = "0.1.0"
