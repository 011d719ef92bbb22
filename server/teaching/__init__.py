"""The teaching layer: fact sheets, training curves, the overfitting meter, the class atlas.

It reads the core (models, submissions, challenges); the core never imports it.
"""
