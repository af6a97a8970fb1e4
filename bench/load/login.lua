-- wrk script: POST /api/v1/security/auth/login with the USERNAME / PASSWORD from the
-- environment (a valid login: every request runs Argon2id on the offload pool).
wrk.method = "POST"
wrk.path = "/api/v1/security/auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"username":"%s","password":"%s"}', os.getenv("USERNAME"), os.getenv("PASSWORD"))
