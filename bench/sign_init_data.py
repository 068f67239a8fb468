#!/usr/bin/env python3
"""Writes N Telegram Mini App initData strings, one per line, signed the way
Telegram documents it (hash = hex HMAC-SHA256 of the sorted data-check-string
under HMAC-SHA256("WebAppData", bot token)), for users 1..N, dated now.

Independent of the service's Rust verifier: Python's hmac and urllib only.

usage: sign_init_data.py BOT_TOKEN N > init_data.txt
"""
import hashlib
import hmac
import json
import sys
import time
import urllib.parse


def sign(fields, bot_token):
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields = dict(fields, hash=hmac.new(secret, check.encode(), hashlib.sha256).hexdigest())
    return urllib.parse.urlencode(fields, quote_via=urllib.parse.quote)


def main():
    bot_token, n = sys.argv[1], int(sys.argv[2])
    now = str(int(time.time()))
    for user in range(1, n + 1):
        profile = {"id": user, "first_name": f"User {user}", "language_code": ["ru", "en"][user % 2]}
        fields = {
            "auth_date": now,
            "query_id": f"AAH{user:012d}",
            "user": json.dumps(profile, separators=(",", ":")),
        }
        print(sign(fields, bot_token))


if __name__ == "__main__":
    main()
