from spsll.studies.thresholds.study import main

if __name__ == "__main__":
    main()
