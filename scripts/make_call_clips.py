"""Make the call display's recorded clips (static/audio/calls/*.wav), played when the
display's browser has no Chinese (zh-CN) voice: the letters queues use, the digits and
the words of a call ("请 A 0 0 3 号 到 1 十 2 号 窗口 办理": the ticket's digits one by one,
the window's number as a number).

    python3 scripts/make_call_clips.py           # with espeak-ng (apt-get install espeak-ng)
    python3 scripts/make_call_clips.py --tones   # no speech engine: distinct beeps instead

Standard library only. The clips are committed; to use real recordings instead, record
each clip named below (mono WAV, any rate; trim the silence) and drop it into
static/audio/calls/ under the same name: the display plays whatever is there.
"""

import argparse
import math
import shutil
import string
import struct
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "static" / "audio" / "calls"
RATE = 22050

# clip name -> what is said. Letters are said as their English names, as halls do.
# "shi" (十) lets window numbers be said as numbers: 12 -> 十二, 20 -> 二十.
WORDS = {"qing": "请", "hao": "号", "dao": "到", "chuangkou": "窗口", "banli": "办理", "shi": "十"}
DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
CLIPS = {
    **{letter: letter for letter in string.ascii_uppercase},
    **DIGITS,
    **WORDS,
}


def _trim(frames: bytes, width: int, threshold: int = 300) -> bytes:
    """Drop leading and trailing near-silence, keeping 30 ms either side."""
    samples = struct.unpack(f"<{len(frames) // width}h", frames)
    loud = [i for i, value in enumerate(samples) if abs(value) > threshold]
    if not loud:
        return frames
    pad = int(RATE * 0.03)
    start, end = max(loud[0] - pad, 0), min(loud[-1] + pad, len(samples))
    return struct.pack(f"<{end - start}h", *samples[start:end])


def _write(path: Path, frames: bytes) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)


def spoken(name: str, text: str, engine: str) -> None:
    voice = "en" if text in string.ascii_uppercase else "cmn"
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "clip.wav"
        subprocess.run(  # noqa: S603 - fixed arguments, our own text
            [engine, "-v", voice, "-s", "150", "-a", "180", "-w", str(raw), text], check=True
        )
        with wave.open(str(raw), "rb") as clip:
            if (clip.getnchannels(), clip.getsampwidth(), clip.getframerate()) != (1, 2, RATE):
                sys.exit(f"{engine} gave an unexpected format for {name}")
            frames = clip.readframes(clip.getnframes())
    _write(OUT / f"{name}.wav", _trim(frames, 2))


def tone(name: str, index: int) -> None:
    """A short beep of its own pitch per clip: a placeholder that at least tells calls
    apart, for a machine without a speech engine."""
    frequency = 330 * 2 ** (index / 24)
    count = int(RATE * 0.3)
    frames = b"".join(
        struct.pack("<h", int(9000 * math.sin(2 * math.pi * frequency * n / RATE)
                              * min(1, n / 400, (count - n) / 400)))
        for n in range(count)
    )  # fmt: skip
    _write(OUT / f"{name}.wav", frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tones", action="store_true", help="beeps instead of speech")
    parser.add_argument("--only", nargs="*", metavar="CLIP", help="make just these clips")
    args = parser.parse_args()
    engine = shutil.which("espeak-ng")
    if not args.tones and engine is None:
        sys.exit("espeak-ng is not installed: install it, or run with --tones")
    OUT.mkdir(parents=True, exist_ok=True)
    for index, (name, text) in enumerate(CLIPS.items()):
        if args.only and name not in args.only:
            continue
        if args.tones:
            tone(name, index)
        else:
            spoken(name, text, engine)
    print(f"{len(args.only or CLIPS)} clips in {OUT}")


if __name__ == "__main__":
    main()
