"""The web page for managers: try a message, browse the playbooks, see what helps.

`app.attach` mounts it on `touchpoint serve`; `app.preview` is `touchpoint preview`.
"""
