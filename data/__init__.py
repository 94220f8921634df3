"""simreal.data"""
