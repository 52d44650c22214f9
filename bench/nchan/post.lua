-- wrk script: POST a 100-byte text/plain message (Nchan publisher location).
wrk.method = "POST"
wrk.body = string.rep("x", 100)
wrk.headers["Content-Type"] = "text/plain"
