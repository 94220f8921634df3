"""simreal.envs"""
