from spsll.studies.fitted_filter.study import main

if __name__ == "__main__":
    main()
