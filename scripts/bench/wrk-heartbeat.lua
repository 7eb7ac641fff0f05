-- wrk: the same heartbeat POST as `loadgen hammer --request heartbeat`.
wrk.method = "POST"
wrk.body = '{"exam_id":1,"student_id":"test_00001"}'
wrk.headers["Content-Type"] = "application/json"
