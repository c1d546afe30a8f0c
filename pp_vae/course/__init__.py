"""Running the course: the lecture notebooks executed and published, their key numbers, and the homework."""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "summary": ["key_numbers", "KEY_NUMBERS_MIME", "NotebookResult"],
        "notebooks": ["default_notebooks_dir", "list_notebooks", "run_notebook", "run_course"],
        "site": ["write_index"],
        "homework": ["Grade", "release", "autograde", "export_grades", "list_assignments"],
    },
)
