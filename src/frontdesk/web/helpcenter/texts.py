"""The help center's own texts in every supported language, and how a page picks its language.

``{name}``, ``{query}``, ``{count}``, ``{language}`` and ``{date}`` are filled in by the pages.
A test checks that every language has every text and every placeholder of the English one.
"""

from __future__ import annotations

from typing import Final

from frontdesk.language.detect import SUPPORTED

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "help_center": "{name} Help Center",
        "search_label": "Search the help center",
        "search_placeholder": "Search for answers…",
        "search": "Search",
        "collections": "Collections",
        "articles_count": "{count} articles",
        "no_articles": "There are no articles here yet.",
        "other_articles": "Other articles",
        "results_for": "Results for “{query}”",
        "no_results": "No articles match “{query}”.",
        "no_results_hint": "Try other words, browse the collections, or contact us: we are happy to help.",
        "browse_collections": "Browse all collections",
        "contact_support": "Contact support",
        "empty_query": "Type a question to search the articles.",
        "shown_in": "This article is not available in your language yet: it is shown in {language}.",
        "also_in": "Also in:",
        "updated": "Updated {date}",
        "all_collections": "All collections",
        "language": "Language",
        "not_found": "This page does not exist, or it is not published any more.",
        "still_need_help": "Still need help? Use the chat button to talk with us.",
    },
    "th": {
        "help_center": "ศูนย์ช่วยเหลือ {name}",
        "search_label": "ค้นหาในศูนย์ช่วยเหลือ",
        "search_placeholder": "ค้นหาคำตอบ…",
        "search": "ค้นหา",
        "collections": "หมวดหมู่",
        "articles_count": "{count} บทความ",
        "no_articles": "ยังไม่มีบทความในหมวดนี้",
        "other_articles": "บทความอื่น ๆ",
        "results_for": "ผลการค้นหาสำหรับ “{query}”",
        "no_results": "ไม่พบบทความที่ตรงกับ “{query}”",
        "no_results_hint": "ลองใช้คำอื่น ดูหมวดหมู่ทั้งหมด หรือติดต่อเรา เรายินดีช่วยเหลือ",
        "browse_collections": "ดูหมวดหมู่ทั้งหมด",
        "contact_support": "ติดต่อฝ่ายบริการลูกค้า",
        "empty_query": "พิมพ์คำถามเพื่อค้นหาบทความ",
        "shown_in": "บทความนี้ยังไม่มีในภาษาของคุณ จึงแสดงเป็น{language}",
        "also_in": "มีในภาษา:",
        "updated": "อัปเดตเมื่อ {date}",
        "all_collections": "หมวดหมู่ทั้งหมด",
        "language": "ภาษา",
        "not_found": "ไม่พบหน้านี้ หรือหน้านี้ไม่ได้เผยแพร่แล้ว",
        "still_need_help": "ยังต้องการความช่วยเหลือ? กดปุ่มแชทเพื่อคุยกับเรา",
    },
    "el": {
        "help_center": "Κέντρο βοήθειας {name}",
        "search_label": "Αναζήτηση στο κέντρο βοήθειας",
        "search_placeholder": "Αναζητήστε απαντήσεις…",
        "search": "Αναζήτηση",
        "collections": "Ενότητες",
        "articles_count": "{count} άρθρα",
        "no_articles": "Δεν υπάρχουν ακόμη άρθρα εδώ.",
        "other_articles": "Άλλα άρθρα",
        "results_for": "Αποτελέσματα για «{query}»",
        "no_results": "Κανένα άρθρο δεν ταιριάζει με «{query}».",
        "no_results_hint": "Δοκιμάστε άλλες λέξεις, δείτε τις ενότητες ή επικοινωνήστε μαζί μας: θα χαρούμε να βοηθήσουμε.",
        "browse_collections": "Δείτε όλες τις ενότητες",
        "contact_support": "Επικοινωνία με την υποστήριξη",
        "empty_query": "Γράψτε μια ερώτηση για να αναζητήσετε στα άρθρα.",
        "shown_in": "Το άρθρο δεν είναι ακόμη διαθέσιμο στη γλώσσα σας: εμφανίζεται στα {language}.",
        "also_in": "Επίσης σε:",
        "updated": "Ενημέρωση {date}",
        "all_collections": "Όλες οι ενότητες",
        "language": "Γλώσσα",
        "not_found": "Η σελίδα δεν υπάρχει ή δεν είναι πλέον δημοσιευμένη.",
        "still_need_help": "Χρειάζεστε ακόμη βοήθεια; Πατήστε το κουμπί συνομιλίας.",
    },
    "zh": {
        "help_center": "{name} 帮助中心",
        "search_label": "搜索帮助中心",
        "search_placeholder": "搜索答案…",
        "search": "搜索",
        "collections": "分类",
        "articles_count": "{count} 篇文章",
        "no_articles": "这里还没有文章。",
        "other_articles": "其他文章",
        "results_for": "“{query}”的搜索结果",
        "no_results": "没有与“{query}”匹配的文章。",
        "no_results_hint": "请换个说法、浏览全部分类，或联系我们，我们很乐意帮忙。",
        "browse_collections": "浏览全部分类",
        "contact_support": "联系客服",
        "empty_query": "输入问题以搜索文章。",
        "shown_in": "本文暂无您的语言版本，以下显示的是{language}版本。",
        "also_in": "其他语言：",
        "updated": "更新于 {date}",
        "all_collections": "全部分类",
        "language": "语言",
        "not_found": "此页面不存在，或已不再发布。",
        "still_need_help": "仍需帮助？点击聊天按钮与我们联系。",
    },
    "id": {
        "help_center": "Pusat Bantuan {name}",
        "search_label": "Cari di pusat bantuan",
        "search_placeholder": "Cari jawaban…",
        "search": "Cari",
        "collections": "Koleksi",
        "articles_count": "{count} artikel",
        "no_articles": "Belum ada artikel di sini.",
        "other_articles": "Artikel lainnya",
        "results_for": "Hasil untuk “{query}”",
        "no_results": "Tidak ada artikel yang cocok dengan “{query}”.",
        "no_results_hint": "Coba kata lain, lihat semua koleksi, atau hubungi kami: kami siap membantu.",
        "browse_collections": "Lihat semua koleksi",
        "contact_support": "Hubungi dukungan",
        "empty_query": "Ketik pertanyaan untuk mencari artikel.",
        "shown_in": "Artikel ini belum tersedia dalam bahasa Anda: ditampilkan dalam {language}.",
        "also_in": "Juga dalam:",
        "updated": "Diperbarui {date}",
        "all_collections": "Semua koleksi",
        "language": "Bahasa",
        "not_found": "Halaman ini tidak ada, atau tidak lagi diterbitkan.",
        "still_need_help": "Masih butuh bantuan? Tekan tombol chat untuk bicara dengan kami.",
    },
    "es": {
        "help_center": "Centro de ayuda de {name}",
        "search_label": "Buscar en el centro de ayuda",
        "search_placeholder": "Busca respuestas…",
        "search": "Buscar",
        "collections": "Colecciones",
        "articles_count": "{count} artículos",
        "no_articles": "Todavía no hay artículos aquí.",
        "other_articles": "Otros artículos",
        "results_for": "Resultados para «{query}»",
        "no_results": "Ningún artículo coincide con «{query}».",
        "no_results_hint": "Prueba con otras palabras, explora las colecciones o contacta con nosotros: te ayudamos encantados.",
        "browse_collections": "Ver todas las colecciones",
        "contact_support": "Contactar con soporte",
        "empty_query": "Escribe una pregunta para buscar en los artículos.",
        "shown_in": "Este artículo aún no está disponible en tu idioma: se muestra en {language}.",
        "also_in": "También en:",
        "updated": "Actualizado el {date}",
        "all_collections": "Todas las colecciones",
        "language": "Idioma",
        "not_found": "Esta página no existe o ya no está publicada.",
        "still_need_help": "¿Sigues necesitando ayuda? Usa el botón de chat para hablar con nosotros.",
    },
    "de": {
        "help_center": "{name} Hilfe-Center",
        "search_label": "Im Hilfe-Center suchen",
        "search_placeholder": "Antworten suchen…",
        "search": "Suchen",
        "collections": "Themen",
        "articles_count": "{count} Artikel",
        "no_articles": "Hier gibt es noch keine Artikel.",
        "other_articles": "Weitere Artikel",
        "results_for": "Ergebnisse für „{query}“",
        "no_results": "Kein Artikel passt zu „{query}“.",
        "no_results_hint": "Versuchen Sie andere Wörter, stöbern Sie in den Themen oder schreiben Sie uns: Wir helfen gern.",
        "browse_collections": "Alle Themen ansehen",
        "contact_support": "Support kontaktieren",
        "empty_query": "Geben Sie eine Frage ein, um die Artikel zu durchsuchen.",
        "shown_in": "Dieser Artikel ist noch nicht in Ihrer Sprache verfügbar: Er wird auf {language} angezeigt.",
        "also_in": "Auch auf:",
        "updated": "Aktualisiert am {date}",
        "all_collections": "Alle Themen",
        "language": "Sprache",
        "not_found": "Diese Seite gibt es nicht, oder sie ist nicht mehr veröffentlicht.",
        "still_need_help": "Brauchen Sie noch Hilfe? Schreiben Sie uns über den Chat-Knopf.",
    },
}

# Each language's name, as written in each language (LANGUAGE_NAMES[shown_to][language]).
LANGUAGE_NAMES: Final[dict[str, dict[str, str]]] = {
    "en": {"en": "English", "th": "Thai", "el": "Greek", "zh": "Chinese",
           "id": "Indonesian", "es": "Spanish", "de": "German"},
    "th": {"en": "ภาษาอังกฤษ", "th": "ภาษาไทย", "el": "ภาษากรีก", "zh": "ภาษาจีน",
           "id": "ภาษาอินโดนีเซีย", "es": "ภาษาสเปน", "de": "ภาษาเยอรมัน"},
    "el": {"en": "Αγγλικά", "th": "Ταϊλανδικά", "el": "Ελληνικά", "zh": "Κινεζικά",
           "id": "Ινδονησιακά", "es": "Ισπανικά", "de": "Γερμανικά"},
    "zh": {"en": "英文", "th": "泰文", "el": "希腊文", "zh": "中文",
           "id": "印尼文", "es": "西班牙文", "de": "德文"},
    "id": {"en": "bahasa Inggris", "th": "bahasa Thai", "el": "bahasa Yunani",
           "zh": "bahasa Tionghoa", "id": "bahasa Indonesia", "es": "bahasa Spanyol",
           "de": "bahasa Jerman"},
    "es": {"en": "inglés", "th": "tailandés", "el": "griego", "zh": "chino",
           "id": "indonesio", "es": "español", "de": "alemán"},
    "de": {"en": "Englisch", "th": "Thailändisch", "el": "Griechisch", "zh": "Chinesisch",
           "id": "Indonesisch", "es": "Spanisch", "de": "Deutsch"},
}  # fmt: skip

# How each language calls itself: the language picker.
NATIVE_NAMES: Final[dict[str, str]] = {
    "en": "English",
    "th": "ไทย",
    "el": "Ελληνικά",
    "zh": "中文",
    "id": "Bahasa Indonesia",
    "es": "Español",
    "de": "Deutsch",
}

assert set(TEXTS) == set(SUPPORTED) == set(LANGUAGE_NAMES) == set(NATIVE_NAMES)


def _primary(tag: str) -> str | None:
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in TEXTS else None


def accept_languages(header: str | None) -> list[str]:
    """The supported languages of an Accept-Language header, best first (q=0 means "not")."""
    found: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        language = _primary(tag) if tag and tag != "*" else None
        if language and quality > 0:
            found.append((-quality, position, language))
    return list(dict.fromkeys(language for _, _, language in sorted(found)))


def pick_language(query: str | None, accept: str | None, default: str) -> str:
    """?lang= when supported, else the best of Accept-Language, else the workspace's."""
    if query:
        chosen = _primary(query)
        if chosen:
            return chosen
    for language in accept_languages(accept):
        return language
    return default if default in TEXTS else "en"


def texts_for(language: str, workspace_name: str) -> dict[str, str]:
    table = TEXTS.get(language, TEXTS["en"])
    return {key: value.replace("{name}", workspace_name) for key, value in table.items()}
