-- wrk: the same login POST as `loadgen hammer` (the supervise client's JSON login).
wrk.method = "POST"
wrk.body = '{"student_id":"test_00001","student_name":"Student 1"}'
wrk.headers["Content-Type"] = "application/json"
