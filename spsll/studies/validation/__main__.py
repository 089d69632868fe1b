from spsll.studies.validation.study import main

if __name__ == "__main__":
    main()
