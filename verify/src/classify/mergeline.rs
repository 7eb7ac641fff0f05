//! What the merge worker's own messages say. The real server
//! (`celery_tasks.merge_videos_task`) logs through a module logger, so its
//! lines carry no task ID: `[视频合并] 开始处理: 考试=E, 学生=S (name), Task ID=T`,
//! `[视频合并] 检测到序号缺失: 考试=E, 学生=S, 缺失序号=[..], 实际序号=[..]`
//! (merges anyway), `[视频合并] 序号不连续，跳过合并: 考试=E, 学生=S, 缺失序号=[..],
//! 实际序号范围=1-N` (no merge; the task returns `{'status': 'skipped', …}`),
//! `[FFmpeg] 合并失败: <ffmpeg's stderr, several lines>`. The reference
//! target's older wording is `序号缺失 student_id=S exam_id=E missing=3`.

/// The seq numbers a gap message names after the student ID: the value of a
/// `missing=`/`missing:`/`缺失=` key when there is one (`3,5,7-9`), otherwise
/// every number and range left after dropping `key=value` fields. Kept as
/// sorted, merged ranges: `1-99999` is one range, whatever its width.
pub fn missing_seqs(after_id: &str) -> Vec<[u64; 2]> {
    static KEYED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?:missing_seqs|missing|seqs?|缺失序号|缺失)\s*[=:：]\s*([\[\]0-9,，\s-]+)")
            .expect("valid regex")
    });
    let text: String = match KEYED.captures(after_id) {
        Some(c) => c[1].to_string(),
        None => after_id
            .split_whitespace()
            .filter(|t| !t.contains(['=', ':']))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let mut out = Vec::new();
    for part in text.split(|c: char| !(c.is_ascii_digit() || c == '-')) {
        let mut nums = part.split('-').filter_map(|n| n.parse::<u64>().ok());
        match (nums.next(), nums.next(), nums.next()) {
            (Some(a), None, _) => out.push([a, a]),
            (Some(a), Some(b), None) if a <= b => out.push([a, b]),
            _ => {}
        }
    }
    crate::audit::ranges::normalize(out)
}

/// The value of `key` (which ends in `=`) in `message`: up to the next
/// comma, space or bracket. `None` when absent or empty. A key must start a
/// word, so `exam_id=` is not read inside `student_exam_id=`.
pub fn field<'a>(message: &'a str, key: &str) -> Option<&'a str> {
    for (at, _) in message.match_indices(key) {
        let word_start = message[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if !word_start {
            continue;
        }
        let rest = &message[at + key.len()..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '(' | ')' | '（' | '）' | ';' | '；'))
            .unwrap_or(rest.len());
        let value = &rest[..end];
        if !value.is_empty() {
            return Some(value);
        }
    }
    None
}

/// The student a worker message names by key: `学生=`, `student_id=`.
pub fn student(message: &str) -> Option<&str> {
    field(message, "学生=").or_else(|| field(message, "student_id="))
}

/// The exam a worker message names by key: `考试=`, `exam_id=`, `exam=`.
pub fn exam(message: &str) -> Option<&str> {
    field(message, "考试=")
        .or_else(|| field(message, "exam_id="))
        .or_else(|| field(message, "exam="))
}

/// The task a `开始处理` line announces: `…, Task ID=<id>`.
pub fn started_task(message: &str) -> Option<&str> {
    if !message.contains("开始处理") {
        return None;
    }
    field(message, "Task ID=")
}

/// A gap line that also says the merge was skipped (`序号不连续，跳过合并`).
pub fn says_skipped(message: &str) -> bool {
    message.contains("跳过")
}

/// `[FFmpeg] 合并失败: …`, `[FFmpeg] 合并出错: …`, `[FFmpeg] 合并超时…`: ffmpeg failed.
pub fn ffmpeg_failure(message: &str) -> bool {
    message.trim_start().starts_with("[FFmpeg]") && ["失败", "出错", "超时"].iter().any(|w| message.contains(w))
}

/// The worker's own echo of a failure it already logged (`[视频合并] 合并失败: S, E`
/// after the ffmpeg line, `[视频合并] 处理任务出错: Retry in 60s` before the
/// retry): counted through those, not again as a warning.
pub fn failure_echo(message: &str) -> bool {
    let m = message.trim_start();
    m.starts_with("[视频合并] 合并失败") || m.starts_with("[视频合并] 处理任务出错")
}

/// A task's return value as celery prints it (a Python dict repr).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskResult<'a> {
    pub status: Option<&'a str>,
    pub student: Option<&'a str>,
    pub exam: Option<&'a str>,
}

impl TaskResult<'_> {
    /// `{'status': 'skipped', …}`: the task ran and merged nothing.
    pub fn skipped(&self) -> bool {
        self.status == Some("skipped")
    }
}

/// Reads `'status'`, `'student_id'` and `'exam_id'` from a printed dict
/// (`{'status': 'skipped', 'reason': '序号不连续', 'student_id': 'S', 'exam_id': 30}`).
pub fn task_result(result: &str) -> TaskResult<'_> {
    if !result.starts_with('{') {
        return TaskResult::default();
    }
    TaskResult {
        status: dict_value(result, "status"),
        student: dict_value(result, "student_id"),
        exam: dict_value(result, "exam_id"),
    }
}

/// The value of `'key': v` or `"key": v` in a printed dict: a quoted string
/// without its quotes, or a bare token up to `,` or `}`.
fn dict_value<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    for (at, _) in dict.match_indices(key) {
        let Some(q) = dict[..at].chars().next_back().filter(|c| matches!(c, '\'' | '"')) else {
            continue;
        };
        let after = &dict[at + key.len()..];
        let Some(rest) = after.strip_prefix(q).and_then(|r| r.strip_prefix(':')) else {
            continue;
        };
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(v @ ('\'' | '"')) => {
                let body = &rest[1..];
                &body[..body.find(v).unwrap_or(body.len())]
            }
            _ => rest[..rest.find([',', '}']).unwrap_or(rest.len())].trim(),
        };
        return (!value.is_empty()).then_some(value);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fields_of_both_real_wordings_whatever_the_id_prefix() {
        let found = "[视频合并] 检测到序号缺失: 考试=30, 学生=2023010101, 缺失序号=[3, 5], 实际序号=[1, 2, 4, 6]";
        assert_eq!((student(found), exam(found)), (Some("2023010101"), Some("30")));
        let skip = "[视频合并] 序号不连续，跳过合并: 考试=31, 学生=test_00006, 缺失序号=[3], 实际序号范围=1-4";
        assert_eq!((student(skip), exam(skip)), (Some("test_00006"), Some("31")));
        assert!(says_skipped(skip) && !says_skipped(found));
        let old = "序号缺失 student_id=test_00006 exam_id=30 missing=3";
        assert_eq!((student(old), exam(old)), (Some("test_00006"), Some("30")));
        assert_eq!(exam("x student_exam_id=9"), None, "a key starts a word");
        let start = "[视频合并] 开始处理: 考试=30, 学生=test_00008 (张三), Task ID=7e32-77";
        assert_eq!(
            (started_task(start), student(start)),
            (Some("7e32-77"), Some("test_00008"))
        );
    }

    #[test]
    fn ffmpeg_lines_and_echoes() {
        assert!(ffmpeg_failure("[FFmpeg] 合并失败: ffmpeg version 6.1.1"));
        assert!(ffmpeg_failure("[FFmpeg] 合并失败，输出文件无效"));
        assert!(!ffmpeg_failure("[FFmpeg] 执行命令: ffmpeg -y -f concat"));
        assert!(failure_echo("[视频合并] 合并失败: test_00008, 30"));
        assert!(!failure_echo("[视频合并] 合并成功: server_data/30/recordings/x.mp4"));
    }

    #[test]
    fn skipped_result_dict() {
        let r = task_result(
            "{'status': 'skipped', 'reason': '序号不连续', 'missing_seqs': [3], 'total_seqs': 3, 'student_id': 'test_00006', 'exam_id': 30}",
        );
        assert!(r.skipped());
        assert_eq!((r.student, r.exam), (Some("test_00006"), Some("30")));
        assert!(!task_result("{'status': 'success', 'output_file': 'x'}").skipped());
        assert_eq!(task_result("3"), TaskResult::default());
    }

    #[test]
    fn missing_seqs_from_various_wordings() {
        assert_eq!(missing_seqs(" exam_id=30 missing=3,5,7-9"), [[3, 3], [5, 5], [7, 9]]);
        assert_eq!(missing_seqs(" exam_id=30 缺失序号:[4, 6]"), [[4, 4], [6, 6]]);
        assert_eq!(missing_seqs(" 缺少 12 14-15 号片段 exam_id=30"), [[12, 12], [14, 15]]);
        assert_eq!(
            missing_seqs(" missing=1-99999,5-200000,3"),
            [[1, 200_000]],
            "ranges stay ranges"
        );
        assert!(missing_seqs(" exam_id=30").is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = (student(&s), exam(&s), started_task(&s), task_result(&s));
            let _ = task_result(&format!("{{{s}"));
        }
    }
}
