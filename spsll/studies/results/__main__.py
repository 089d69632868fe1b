from spsll.studies.results.study import main

if __name__ == "__main__":
    main()
