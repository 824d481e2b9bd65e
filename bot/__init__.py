"""archive-bot: a Telegram bot that answers questions from an archive of Chinese Q&A pages.

Data flows one way: archive files → :mod:`bot.archive.parse` → :mod:`bot.storage.store` →
:mod:`bot.search.index` → :mod:`bot.search.matcher` → :mod:`bot.ui.render` → :mod:`bot.telegram.handlers`.
"""

__version__ = "0.1.0"
