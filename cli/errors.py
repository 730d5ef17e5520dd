"""What the user sees when a command goes wrong: one Chinese line, never a traceback."""

from __future__ import annotations

from shegong.errors import UserError, database_error


def usage_error(e, kinds: set[str]) -> str:
    """Click's usage errors ("Missing argument 'QUESTION'.") in Chinese, with the English detail kept."""
    param = getattr(e, "param", None)
    name = getattr(param, "name", "") or ""
    if "MissingParameter" in kinds:
        text = f"缺少参数 {name}"
    elif "NoSuchOption" in kinds:
        text = f"没有这个选项：{e.option_name}"
    elif "BadParameter" in kinds:
        text = f"参数 {name} 的值不对（{e.message}）"
    elif "UsageError" in kinds:
        text = f"用法不对（{e.message}）"
    else:
        text = e.format_message()
    return f"{text}。运行 shegong --help（或在命令后加 --help）查看用法。"


def explain(e: Exception) -> str:
    """A Chinese message for what can go wrong outside our own checks (files, disks, settings)."""
    import sqlite3

    from pydantic import ValidationError

    name = getattr(e, "filename", None) or ""
    if isinstance(e, UserError):
        return str(e)
    if isinstance(e, sqlite3.Error):
        return str(database_error(e))
    if isinstance(e, FileNotFoundError):
        return f"找不到文件或文件夹：{name}"
    if isinstance(e, PermissionError):
        return f"没有权限读写：{name}。请检查文件权限，或换一个位置。"
    if isinstance(e, IsADirectoryError):
        return f"这里需要一个文件，给出的却是文件夹：{name}"
    if isinstance(e, NotADirectoryError):
        return f"路径中有一段是文件而不是文件夹：{name}"
    if isinstance(e, FileExistsError):
        return f"已经有同名的文件，不能作为文件夹使用：{name}"
    if isinstance(e, UnicodeDecodeError):
        return "文件编码无法识别。请用记事本或 WPS 另存为 UTF-8 编码后再试。"
    if isinstance(e, ValidationError) or type(e).__name__ == "TOMLDecodeError":
        return f"设置有误（config.toml 或 SHEGONG_ 开头的环境变量）：{e}"
    if isinstance(e, RuntimeError) and "loop" in str(e).lower():
        return f"文件夹里有循环的快捷方式（符号链接）：{e}"
    if isinstance(e, OSError):
        return f"读写文件出错：{e.strerror or e}（{name}）"
    return f"出错了：{type(e).__name__}: {e}。如反复出现，请设置 SHEGONG_DEBUG=1 后重试，把输出交给管理员。"
