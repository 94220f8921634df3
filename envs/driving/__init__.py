"""Driving scene: a car on procedurally generated roads."""
