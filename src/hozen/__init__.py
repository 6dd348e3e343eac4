"""Hozen (保全): runs Japan's security clearance regime for Important Economic Security Information."""

__version__ = "0.1.0"
