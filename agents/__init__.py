"""simreal.agents"""
