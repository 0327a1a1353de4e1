from colorize.cli import main
from video_support import clip_frames, make_clip, read_video


def test_video_command_colours_a_clip_with_the_bundled_model(tmp_path, capsys):
    source = make_clip(tmp_path / "in.mp4", clip_frames(4), audio="aac")
    code = main(["video", str(source), str(tmp_path / "out.mkv"), "--backend", "torch", "--no-progress",
                 "--preset", "ultrafast", "--stabilize", "0.5", "--duration", "0.3"])
    assert code == 0
    assert "3 frames" in capsys.readouterr().out
    assert len(read_video(tmp_path / "out.mkv")["frames"]) == 3


def test_video_command_reports_bad_input_in_one_line(tmp_path, capsys):
    (tmp_path / "notes.mp4").write_text("not a video")
    assert main(["video", str(tmp_path / "notes.mp4"), str(tmp_path / "out.mp4"), "--no-progress"]) == 2
    assert "colorize video: error: notes.mp4: not a readable video" in capsys.readouterr().err
    assert not (tmp_path / "out.mp4").exists()
