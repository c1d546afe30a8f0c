"""Running the course: the lecture notebooks executed and published as a site, their key numbers, and the homework."""

from pp_vae._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "summary": ["key_numbers", "KEY_NUMBERS_MIME", "NotebookResult", "write_summary"],
        "notebooks": ["default_notebooks_dir", "list_notebooks", "run_notebook", "read_notebook", "run_course"],
        "site": ["build_site", "stage_source", "run_sphinx"],
        "homework": ["Grade", "release", "autograde", "export_grades", "list_assignments"],
    },
)
