"""Plotly figure builders: plain arrays from carafe.inspect in, figures out. No maths beyond
colouring. ``style`` holds the shared look; each other module one kind of figure."""
