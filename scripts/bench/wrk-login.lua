-- wrk: the same login POST as `loadgen hammer`.
wrk.method = "POST"
wrk.body = "exam_id=30&student_id=test_00001"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
