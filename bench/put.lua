-- wrk script: PUT a 100-byte message to one channel per connection thread.
wrk.method = "PUT"
wrk.body = string.rep("x", 100)
wrk.headers["Content-Type"] = "text/plain"
