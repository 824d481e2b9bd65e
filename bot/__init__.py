"""archive-bot: a Telegram bot that answers questions from an archive of Chinese Q&A pages.

Data flows one way: archive files → :mod:`bot.archive.parse` → :mod:`bot.store` →
:mod:`bot.index` → :mod:`bot.matcher` → :mod:`bot.render` → :mod:`bot.handlers`.
"""

__version__ = "0.1.0"
