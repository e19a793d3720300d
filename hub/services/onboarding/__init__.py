"""Accounts connected by authorisation (扫码授权): the WeChat 第三方平台 and OAuth grants.

attempts.py keeps the platform-neutral record of one attempt; each platform module builds its
link (``Begun``) and completes the attempt when the platform sends the holder back or pushes
its event; registry.py maps platform names to those modules.
"""
