"""The PDF layer: hozen.documents."""
