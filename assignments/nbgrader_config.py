# nbgrader's settings for the pp-vae homework. `pp-vae homework` copies this file and source/ into a
# course folder (default build/homework) and runs nbgrader there; instructors can also run `nbgrader`
# in that folder themselves (nbgrader generate_assignment hw1_gamma_poisson, ...).
c = get_config()  # noqa: F821 (provided by nbgrader when it reads this file)

c.CourseDirectory.course_id = "pp-vae"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# what students see where a solution was
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# a Stan build (~35 s) plus sampling fits well inside this; a runaway submission does not hold up grading
c.ExecutePreprocessor.timeout = 900
c.Execute.timeout = 900
c.Execute.interrupt_on_timeout = True

# a Stan program compiled while a notebook runs leaves a build/ folder beside it (26 MB for hw2's solution, with the
# solution's variable names inside): never copied into a release or from a submission
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "build"]
