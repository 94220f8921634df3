"""simreal.transfer"""
