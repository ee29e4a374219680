"""What an attachment is, judged from its bytes, and how it may be shown: one rule for storing and serving.

A sender's word for the type (the provider's declared type, the server's Content-Type, a browser's upload type)
is never trusted alone: the bytes are sniffed with `filetype` (magic numbers of ~90 formats). Bytes it does not
recognise keep the declared type only when that type is a harmless download (text); everything else, SVG and
HTML included, becomes application/octet-stream.
"""

import mimetypes

import filetype

GENERIC = "application/octet-stream"
SNIFF_BYTES = 8192  # filetype looks at no more than this

# Types whose bytes carry no signature and which a browser only ever downloads or shows as text.
SAFE_UNSNIFFABLE = frozenset({"text/plain", "text/csv", "text/vcard", "text/calendar"})
# filetype's names for variants we treat as the common type.
ALIASES = {
    "image/apng": "image/png",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/3gpp": "video/3gpp",
    "audio/x-m4a": "audio/mp4",
    "audio/mp3": "audio/mpeg",
    "text/x-vcard": "text/vcard",
}
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
EXTENSIONS = {"text/vcard": ".vcf", "text/plain": ".txt", "text/csv": ".csv", "text/calendar": ".ics", GENERIC: ".bin"}


def normalize(content_type: str) -> str:
    """`Image/JPEG; charset=x` -> `image/jpeg`, with aliases folded."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    return ALIASES.get(bare, bare)


def sniff(head: bytes) -> str | None:
    """The type the bytes show, or None when they carry no known signature."""
    kind = filetype.guess(bytes(head[:SNIFF_BYTES]))
    return normalize(kind.mime) if kind else None


def content_type_for(head: bytes, declared: str = "") -> str:
    """The content type to store and serve: the sniffed one, else the declared one if harmless, else generic."""
    sniffed = sniff(head)
    if sniffed:
        return sniffed
    declared = normalize(declared)
    return declared if declared in SAFE_UNSNIFFABLE else GENERIC


def display_kind(content_type: str) -> str:
    """How a page may show this type: "image", "audio" or "video" inline, else "file" (a download)."""
    content_type = normalize(content_type)
    if content_type in INLINE_IMAGES:
        return "image"
    major = content_type.split("/", 1)[0]
    if major in {"audio", "video"}:
        return major
    return "file"


def extension_for(content_type: str) -> str:
    content_type = normalize(content_type)
    if content_type in EXTENSIONS:
        return EXTENSIONS[content_type]
    kind = filetype.get_type(mime=content_type)
    return f".{kind.extension}" if kind else mimetypes.guess_extension(content_type) or ""


def download_name(key: str, content_type: str) -> str:
    """A file name for a download: nothing from the sender, the extension of what the bytes are."""
    return f"attachment-{key}{extension_for(content_type)}"
