"""simreal.randomization"""
