"""The hub as a WeChat 第三方平台 (docs/platforms/wechat.md, "第三方平台").

setup.py builds the component API client from the settings; tickets.py keeps the pushed
component_verify_ticket; grants.py turns an authorisation into an account (and a cancelled one
into a revoked account); events.py reads the authorisation events WeChat pushes.
"""
